"""The seeder: a libtorrent session on loopback seeding every video of the catalog."""
