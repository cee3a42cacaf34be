"""``python -m groundup.train`` (see ``groundup.train.cli``)."""
import sys

from groundup.train.cli import main

sys.exit(main())
