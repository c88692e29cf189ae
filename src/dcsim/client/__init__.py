"""The virtual Dreamcast: the client sides of dcsim's cores, driven as a title would."""
