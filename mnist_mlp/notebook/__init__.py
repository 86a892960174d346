"""The notebook's facts and its data: the architectures and recipe as data, the seeded draws,
MNIST bit for bit and its preprocessing, and the golden files that hold the published results."""
