// The part of net-snmp (an untyped CommonJS package) that snmp.ts uses: the AgentX subagent and
// its Mib (README sections "Application: AgentX Subagent" and "Mib Module").
declare module 'net-snmp' {
  import type { EventEmitter } from 'node:events';

  export interface ColumnDef {
    number: number;
    name: string;
    type: number;
    maxAccess: number;
  }
  export interface ProviderDef {
    name: string;
    type: number;
    oid: string;
    maxAccess: number;
    scalarType?: number;
    tableColumns?: ColumnDef[];
    tableIndex?: { columnName: string }[];
  }
  export interface Mib {
    setScalarValue(name: string, value: unknown): void;
    addTableRow(table: string, row: unknown[]): void;
    deleteTableRow(table: string, index: unknown[]): boolean;
    getTableCells(table: string, byRows?: boolean, includeInstances?: boolean): unknown[][] | null;
  }
  export interface Subagent extends EventEmitter {
    open(cb: (err: Error | null) => void): void;
    close(cb: (err: Error | null) => void): void;
    registerProvider(p: ProviderDef, cb: (err: Error | null) => void): void;
    getMib(): Mib;
  }
  export interface SmartBufferLike {
    writeUInt32BE(v: number): void;
    writeUInt8(v: number): void;
    writeBuffer(b: Buffer): void;
  }
  const snmp: {
    AgentXPdu: { writeOctetString(buffer: SmartBufferLike, value: string | Uint8Array): void };
    createSubagent(o: {
      master: string;
      masterPort: number | string;
      timeout?: number;
      description?: string;
    }): Subagent;
    ObjectType: Record<string, number>;
    MaxAccess: Record<string, number>;
    MibProviderType: { Scalar: number; Table: number };
  };
  export default snmp;
}
