// The Extract module. See DEVELOPERS.md for what it holds.
