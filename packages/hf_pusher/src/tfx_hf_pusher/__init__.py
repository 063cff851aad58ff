"""TFX component publishing a blessed model and its demo Space to the Hugging Face Hub."""
