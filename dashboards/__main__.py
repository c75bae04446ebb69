"""`python -m dashboards [--host H] [--port P]`: serve the Dash app."""

import argparse

from dashboards.serve import serve

parser = argparse.ArgumentParser(prog="python -m dashboards")
parser.add_argument("--host")
parser.add_argument("--port", type=int)
args = parser.parse_args()
serve(args.host, args.port)
