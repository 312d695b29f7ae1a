from policies.calibrate.cli import main

raise SystemExit(main())
