"""The codec a decoder needs: the frame path, encoder/decoder, pipeline, registry, configuration,
concealment, redundancy and the frame geometry.  Imports dsp and components, never tools,
research or training."""
