"""`python -m api.jobs [--queue Q ...] [--once]` = `ehb worker`: how `ehb up` starts it."""

import sys

from api.cli import main

sys.argv = ["ehb", "worker", *sys.argv[1:]]
main()
