from django.apps import AppConfig


class GatewaySimulatorConfig(AppConfig):
    name = "gateway_simulator"
    label = "gateway_simulator"
    verbose_name = "Simulated payment gateway (no real money)"
