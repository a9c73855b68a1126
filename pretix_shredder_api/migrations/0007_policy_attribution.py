"""Attribution of automatic actions: a scheduled shred and the job it started record whose retention policy it was
(the organizer's or the event's) and who set that policy, so pages, logs, mails and webhooks can say so."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("pretix_shredder_api", "0006_scope")]

    operations = [
        migrations.AddField(
            model_name="scheduledshred",
            name="policy_attribution",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="shredderjob",
            name="policy_attribution",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
