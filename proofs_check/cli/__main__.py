"""``python -m proofs_check.cli``: the ``a2ad`` command line."""

import sys

from proofs_check.cli.main import main

sys.exit(main())
