"""History: captures from the past (WARC files, a web archive's CDX index) placed among a page's revisions."""
