"""Networks and LightningModules of the zoo; ``components`` holds the blocks they share."""
