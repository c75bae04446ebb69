"""EHB-FRANCHISE: franchises, exclusive territories, order attribution, settlements."""
