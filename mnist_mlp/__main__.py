import sys

from mnist_mlp.cli.main import main

sys.exit(main())
