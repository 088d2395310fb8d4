// Zettabee
