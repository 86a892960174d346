import sys

from mnist_mlp.cli import main

sys.exit(main())
