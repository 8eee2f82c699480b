#!/usr/bin/python3
"""A Modbus RTU slave that nobody in this project wrote: pymodbus (Debian's python3-pymodbus) serving
registers on a serial port, for the gateway's Modbus master to be tested against.

Usage: pymodbus-slave.py PORT BAUD PARITY SPEC_JSON

SPEC_JSON is a list of {"unit", "table": "holding"|"input", "address", "type", "value", "wordorder"}.
pymodbus itself turns each value into registers (its BinaryPayloadBuilder: big-endian bytes in a
register, the word order given), so the encoding is pymodbus's, not ours. Prints "ready" once the
serial port is open. Runs until killed.
"""
import json
import sys

from pymodbus.constants import Endian
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.payload import BinaryPayloadBuilder
from pymodbus.server import StartSerialServer
from pymodbus.transaction import ModbusRtuFramer

ADD = {
    "int16": "add_16bit_int",
    "uint16": "add_16bit_uint",
    "int32": "add_32bit_int",
    "uint32": "add_32bit_uint",
    "float32": "add_32bit_float",
}


def registers(field):
    order = Endian.Little if field.get("wordorder") == "low-first" else Endian.Big
    builder = BinaryPayloadBuilder(byteorder=Endian.Big, wordorder=order)
    getattr(builder, ADD[field["type"]])(field["value"])
    return builder.to_registers()


def main():
    port, baud, parity, spec = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
    tables = {}
    for field in spec:
        table = tables.setdefault(field["unit"], {"holding": [0] * 64, "input": [0] * 64})[field["table"]]
        for i, word in enumerate(registers(field)):
            table[field["address"] + i] = word
    slaves = {
        # zero_mode: register address N on the wire is element N of the block (pymodbus's default
        # adds one, as for the 40001-style numbers of the old Modicon convention).
        unit: ModbusSlaveContext(
            hr=ModbusSequentialDataBlock(0, t["holding"]),
            ir=ModbusSequentialDataBlock(0, t["input"]),
            zero_mode=True,
        )
        for unit, t in tables.items()
    }
    context = ModbusServerContext(slaves=slaves, single=False)
    print("ready", flush=True)
    StartSerialServer(
        context=context,
        framer=ModbusRtuFramer,
        port=port,
        baudrate=baud,
        bytesize=8,
        parity={"none": "N", "even": "E", "odd": "O"}[parity],
        stopbits=1,
        timeout=0.05,
    )


if __name__ == "__main__":
    main()
