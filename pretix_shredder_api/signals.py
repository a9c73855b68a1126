"""Signal receivers of the plugin."""
