"""The catalog of services (what can be sold and how) and the registry of products
(what incidents are about), both loaded from operator-edited data files."""

from unisupport.catalog.catalog import Catalog, Service, default_catalog
from unisupport.catalog.product import Product, ProductFlag, ProductRegistry, default_products

__all__ = [
    "Catalog",
    "Service",
    "default_catalog",
    "Product",
    "ProductFlag",
    "ProductRegistry",
    "default_products",
]
