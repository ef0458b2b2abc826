"""The demo: generated source data (:mod:`meridian.demo.generate`) run through the whole pipeline."""
