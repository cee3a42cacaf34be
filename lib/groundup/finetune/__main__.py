from groundup.finetune.cli import main

raise SystemExit(main())
