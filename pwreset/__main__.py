from pwreset.cli import main

raise SystemExit(main())
