"""The query pipeline shared by REST and Kafka: route, then answer or hand to the smart path."""
