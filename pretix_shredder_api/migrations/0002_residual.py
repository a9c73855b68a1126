from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pretix_shredder_api", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="shredderjob",
            name="residual_checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="shredderjob",
            name="residual_found",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="shredderjob",
            name="residual_locations",
            field=models.JSONField(default=list),
        ),
        migrations.AddField(
            model_name="shredderjob",
            name="residual_seconds",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="shredderjob",
            name="residual_values",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
