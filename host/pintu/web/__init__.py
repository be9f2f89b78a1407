"""The web console (`pintu web`): accounts, the door, office and city views, over the same library calls as the CLI."""
