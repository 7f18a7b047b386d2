from beacon_agent.cli import main

raise SystemExit(main())
