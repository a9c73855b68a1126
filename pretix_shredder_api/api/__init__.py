"""The REST resources of the plugin: the documented shredder viewset, retention, serializers."""
