import sys

from automl.serving.cli import main

sys.exit(main())
