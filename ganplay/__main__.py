import sys

from ganplay.cli import main

sys.exit(main())
