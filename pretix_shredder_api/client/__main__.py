from pretix_shredder_api.client.cli import main

raise SystemExit(main())
