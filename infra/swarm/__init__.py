"""What the suite runs and controls: tracker, seeder, range server, torrents, catalog,
and the HTTP media and range contract they share."""
