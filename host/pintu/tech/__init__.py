"""The technician's tools: flash (flash.py), deploy (manifest.py, board_repl.py, deploy.py), simulated units
(simulator.py, sim_configs.py, sim_hardware.py) and the demo (demo.py). unit_files.py is the only code that knows
where the firmware and board files live (a checkout or the installed wheel)."""
