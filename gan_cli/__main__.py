"""`python -m gan_cli` runs the same app as the `gan` console script."""

from gan_cli.cli import main

if __name__ == "__main__":
    main()
