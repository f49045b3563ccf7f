from csmoe.cli import main

raise SystemExit(main())
