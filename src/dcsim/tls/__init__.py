"""SSL 3.0 / TLS 1.0 as the Dreamcast's ntSSL speaks it: a sans-IO core
(:mod:`dcsim.tls.connection`), its codecs and crypto, profiles, certificates, and the
Twisted edge (:mod:`dcsim.tls.protocol`)."""
