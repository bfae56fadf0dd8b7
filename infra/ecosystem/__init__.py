"""What runs the swarm and the backends: the one service description, the provider
contract, and the local and Docker providers."""
