from pretix.base.plugins import PluginConfig

from pretix_shredder_testplugin import __version__


class TestPluginApp(PluginConfig):
    default = True
    name = "pretix_shredder_testplugin"
    verbose_name = "Slow test shredder (tests only)"

    class PretixPluginMeta:
        name = "Slow test shredder (tests only)"
        author = "pretix-shredder-api developers"
        description = "A slow, controllable data shredder for the integration tests of pretix-shredder-api."
        visible = True
        version = __version__
        category = "FEATURE"
        compatibility = "pretix>=2026.8"

    def ready(self):
        from . import signals  # NOQA
