"""Training: the speech corpus, parameter fits and training commands (the only place, with
hybridcodec.learned, that may import torch at import time)."""
