"""Studies that measure the codec (entropy, envelope quantizers) through its frame path."""
