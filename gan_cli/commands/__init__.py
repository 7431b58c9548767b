"""The commands: one module per `gan` command, each taking one frozen options object; the only
layer between the command line (gan_cli.cli) and the library."""
