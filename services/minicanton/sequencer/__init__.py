"""The sequencer process: total-order multicast for one domain, active-active on one database."""
