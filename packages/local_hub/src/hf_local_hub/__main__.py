"""``python -m hf_local_hub``: the command line."""

from hf_local_hub.cli import main

main()
