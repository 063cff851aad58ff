"""`python -m segmentation_data_prep`: the data_prep Beam job's command line."""

import sys

from segmentation_data_prep.cli import main

sys.exit(main())
