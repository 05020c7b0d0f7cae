"""Input and output serializers of the invoicing API, one module per module of invoicing/rest/views (and `common`
for the fields and references they share).

Inputs only parse (types, lengths, known choices); every rule lives in the services they are handed to. Outputs
render amounts as decimal strings quantised to the admin's currency (`MoneyField`), never floats.
"""
