"""The plugin became an event-and-organizer plugin (pretix's ``PLUGIN_LEVEL_EVENT_ORGANIZER_HYBRID``): its
organizer pages are in the navigation of organizers that switched it on, and its event pages need it on for the
organizer as well as the event. Before, every organizer had the organizer pages and events needed only their own
switch. So that an existing installation keeps its pages, it is switched on for every organizer that used it: an
event with the plugin switched on, a job of the shredder API, or a data shredder / retention setting on the organizer
or one of its events. (pretix's bank transfer plugin did the same with its 0012_org_level_plugin.)"""

from django.db import migrations
from django.db.models import Exists, OuterRef, Q

PLUGIN = "pretix_shredder_api"
SETTINGS_PREFIX = "shredder_"


def used_the_plugin(apps):
    Organizer = apps.get_model("pretixbase", "Organizer")
    Event = apps.get_model("pretixbase", "Event")
    EventSettings = apps.get_model("pretixbase", "Event_SettingsStore")
    OrganizerSettings = apps.get_model("pretixbase", "Organizer_SettingsStore")
    ShredderJob = apps.get_model("pretix_shredder_api", "ShredderJob")
    enabled_events = Event.objects.filter(organizer_id=OuterRef("pk"), plugins__regex=r"(^|,)" + PLUGIN + r"(,|$)")
    jobs = ShredderJob.objects.filter(event__organizer_id=OuterRef("pk"))
    own_settings = OrganizerSettings.objects.filter(object_id=OuterRef("pk"), key__startswith=SETTINGS_PREFIX)
    event_settings = EventSettings.objects.filter(object__organizer_id=OuterRef("pk"), key__startswith=SETTINGS_PREFIX)
    return Organizer.objects.filter(
        Q(Exists(enabled_events)) | Q(Exists(jobs)) | Q(Exists(own_settings)) | Q(Exists(event_settings))
    )


def switch_on_for_organizers(apps, schema_editor):
    for organizer in used_the_plugin(apps):
        plugins = [p for p in (organizer.plugins or "").split(",") if p]
        if PLUGIN not in plugins:
            organizer.plugins = ",".join(plugins + [PLUGIN])
            organizer.save(update_fields=["plugins"])


class Migration(migrations.Migration):
    dependencies = [
        ("pretix_shredder_api", "0004_residual_scan"),
        ("pretixbase", "0287_organizer_plugins"),
    ]

    operations = [migrations.RunPython(switch_on_for_organizers, migrations.RunPython.noop)]
