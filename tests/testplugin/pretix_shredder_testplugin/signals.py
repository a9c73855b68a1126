from django.dispatch import receiver
from pretix.base.signals import register_data_shredders

from .shredder import SlowTestShredder


@receiver(register_data_shredders, dispatch_uid="pretix_shredder_testplugin_slow_test_shredder")
def register_slow_test_shredder(sender, **kwargs):
    return SlowTestShredder
