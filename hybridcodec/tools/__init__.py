"""Tools around the codec: quality metrics, peer codecs (Opus, AMR-WB) and the demo."""
