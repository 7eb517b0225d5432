"""Small helpers with no knowledge of partnerdata's stages: files, digests, clock, text safety, cores, timing."""
