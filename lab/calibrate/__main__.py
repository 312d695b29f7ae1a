from lab.calibrate.cli import main

raise SystemExit(main())
