"""EHB-REPORTING: report definitions over the warehouse marts, runs, exports, scheduled files."""
